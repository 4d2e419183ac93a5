"""ERP Distillery trainer: teacher training, knowledge distillation and ONNX export.

Runs as a SageMaker training job (`python -m distillery_trainer train`) or locally with the
SageMaker paths remapped through `SM_*` environment variables (see `paths.py`).
"""

__version__ = "0.1.0"
