"""Robustness: runs killed and resumed, and the stability matrix of the settings users try."""
