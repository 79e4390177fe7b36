"""Poll worker processes: the daemon's polling spread over several processes, each owning the
devices whose id hashes to it, for inventories one core cannot poll in time."""

from netwatch.workers.pool import ShardedProber, WorkerStartError
from netwatch.workers.sharding import poll_rate, shard_of, worker_count

__all__ = ["ShardedProber", "WorkerStartError", "poll_rate", "shard_of", "worker_count"]
