"""Speed: training throughput, the bare update step, multi-worker training, generation and
studio latency, the dataset cache."""
