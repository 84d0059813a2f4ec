"""copy -m: MemoryLimit reports the peak RSS over the limit, once, as the summary's problem."""

from pyreplay.runtime.copy import MemoryLimit


def test_a_limit_below_this_process_rss_is_exceeded_and_named_in_the_summary():
    limit = MemoryLimit(1)  # any Python process is bigger than 1 MB
    assert limit.exceeded()
    assert limit.problem.startswith("stopped early: memory ") and limit.problem.endswith(" exceeded -m 1 MB")


def test_a_limit_far_above_rss_is_not_exceeded_and_leaves_no_problem():
    limit = MemoryLimit(10_000_000)
    assert not limit.exceeded()
    assert limit.problem is None
