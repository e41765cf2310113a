"""Training side of MPM Lift: mocap data pipeline, pre-training, fine-tuning, evaluation."""
