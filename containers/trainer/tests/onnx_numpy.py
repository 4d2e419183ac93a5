"""The NumPy ONNX interpreter lives in the package (the student phase needs it to compute the int8
graph's own probe outputs); the tests import it from here. See distillery_trainer/onnx_numpy.py
for the ops it implements (incl. QuantizeLinear/DequantizeLinear, Cast to/from int8/float16,
MatMulInteger)."""

from distillery_trainer.onnx_numpy import ONNX_TO_NP, run  # noqa: F401
