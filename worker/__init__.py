"""Worker processes: the one place that joins the job system (queue, stores, storage) and the engine.

`stylebot worker` runs one; `stylebot run` starts a local pool of them (`worker.pool`).
"""
