"""Test defaults: fast mode, quiet TensorFlow, no windows. Set before any kernel starts."""
import os

os.environ.setdefault("CNNCOURSE_FAST", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
