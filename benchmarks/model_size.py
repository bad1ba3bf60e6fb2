"""Parameters and GMACs per face of each variant's landmark network; prints a table, writes JSON.

python benchmarks/model_size.py [--json benchmarks/reports/model_size.json]
"""

import argparse
import json
import platform
from pathlib import Path

import torch

from parface_sdk.nn.flops import count_macs
from parface_sdk.nn.parface_net import ParFaceNet, count_parameters
from parface_sdk.nn.variants import VARIANTS
from parface_sdk.spec import ModelSpec

parser = argparse.ArgumentParser()
parser.add_argument("--json", type=Path, default=Path(__file__).parent / "reports" / "model_size.json")
args = parser.parse_args()

rows = []
for name in ("paper", "light"):
    net = ParFaceNet(ModelSpec.for_variant(name)).eval()
    size = VARIANTS[name].input_size
    crop = torch.zeros(1, 3, size, size)
    # The image head (autoencoder stages only) is not part of the landmark network.
    inference_parameters = count_parameters(net) - count_parameters(net.decoder.to_image)
    rows.append(
        {
            "variant": name,
            "input_size": size,
            "heatmap_size": VARIANTS[name].heatmap_size,
            "parameters": inference_parameters,
            "parameters_with_image_head": count_parameters(net),
            "gmac_per_face": count_macs(net, crop) / 1e9,
            "gmac_encoder": count_macs(net.encoder, crop) / 1e9,
        }
    )
    print(
        f"{name:6s} {size}px  params {inference_parameters / 1e6:6.2f} M  "
        f"GMAC/face {rows[-1]['gmac_per_face']:.3f} (encoder {rows[-1]['gmac_encoder']:.3f})"
    )
args.json.parent.mkdir(parents=True, exist_ok=True)
args.json.write_text(
    json.dumps({"machine": platform.platform(), "torch": torch.__version__, "variants": rows}, indent=1)
)
