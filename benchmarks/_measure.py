"""Measuring helpers shared by the benchmark scripts."""


def peak_mb() -> float:
    """This process's peak resident memory so far (VmHWM), in MB; NaN off Linux."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")
