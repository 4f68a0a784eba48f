-- Migration 5: what each device can do, so work can be sent where it runs best.
--
-- devices.capabilities: JSON written by the device itself (core/devices/capabilities.py):
-- cpus, memory, gpu, onnx providers, installed AI models, os, vdfs version. NULL until the
-- device opened a library with this version (or a coordinator saw it as a Dask worker).
ALTER TABLE devices ADD COLUMN capabilities TEXT;
