"""The YOLO family tests load bare exports through AutoModel: make sure their path resolver is registered."""

import inference_exp.weights_providers.bare_exports  # noqa: F401  (registers the bare-export path resolver)
