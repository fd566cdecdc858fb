"""Pre-training, fine-tuning and evaluation loops, checkpoints and configs."""
