"""A joining device host's rank, from what its launcher sets (--launcher external).

Every launcher numbers the processes it starts, each in its own variable: Slurm's srun
(SLURM_PROCID), Open MPI's mpirun (OMPI_COMM_WORLD_RANK), MPICH and Intel MPI (PMI_RANK), a
Kubernetes Indexed Job (JOB_COMPLETION_INDEX). GPU_ORCHESTRATE_RANK, when set, overrides them
all: for a launcher that sets none of these, or a host started by hand.
"""

from __future__ import annotations

from typing import Mapping

RANK_VARIABLES = ("GPU_ORCHESTRATE_RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "JOB_COMPLETION_INDEX")


class RankError(ValueError):
    """No rank, or one that is not a number; the message says which variables were read."""


def rank_from_environment(env: Mapping[str, str]) -> tuple[int, str]:
    """The rank and the variable it came from: the first of RANK_VARIABLES that is set."""
    for name in RANK_VARIABLES:
        value = env.get(name)
        if value is None or value.strip() == "":
            continue
        if not value.strip().isdigit():
            raise RankError(f"{name}={value!r} is not a rank (a whole number from 0); set GPU_ORCHESTRATE_RANK to this host's rank")
        return int(value), name
    raise RankError(f"no rank: none of {', '.join(RANK_VARIABLES)} is set; start the host with its launcher's rank, or set GPU_ORCHESTRATE_RANK")
