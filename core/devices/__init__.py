"""Devices: what each device can do, choosing one for a task, and the engine that runs it there.

    dev = ctx.select_device().with_capability("gpu").select()
    ctx.execute_on(dev, embed, path)
    use_dask(lib, "tcp://scheduler:8786")     # `vdfs worker` on each machine
"""
from .capabilities import CapabilityError, Device, probe, resources
from .executor import Executor, LocalExecutor, attach, detach, executor_for, use_dask
from .selection import DeviceQuery, NoDeviceError

__all__ = ["CapabilityError", "Device", "DeviceQuery", "Executor", "LocalExecutor",
           "NoDeviceError", "attach", "detach", "executor_for", "probe", "resources", "use_dask"]
