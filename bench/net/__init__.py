"""The parts of ``bench/network.py``: starting the network (``launch``), driving it from
outside (``client``, ``bus``), watching its processes (``procs``, ``profile``), the raw
references (``raw``), the phases that measure (``load``, ``queries``), the end-of-run
checks (``checks``) and the results (``report``)."""
