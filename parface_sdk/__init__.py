"""parface-sdk: 3D facial landmarks (68 x, y, depth) with ParFace-Net."""
