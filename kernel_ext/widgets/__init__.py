"""ipywidgets for the notebook: job monitor, action preview, install dialog, extension views.

Each widget has a stable plain-text form (what terminals show and what nbval compares), and
widgets that follow a job update from `lib.events` (from the job's thread, so also while a
cell waits for it), never by polling.
"""
