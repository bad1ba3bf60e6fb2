"""Training ParFace-Net: the paper's five stages, driven by typed recipes (see parface_training/README.md)."""
