"""Quality: the default model's targets and the measures behind them (equal-CPU comparisons,
the gamma sweep, equilibrium, editing, the checker, the course baseline, the learning check)."""
