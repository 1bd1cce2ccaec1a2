"""Readers of a session's job limits and usage (Slurm, HTCondor, cgroup, host)."""
