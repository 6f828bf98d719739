"""A slow notifier does not hold up labelling; endurance: the whole shared headline files
replayed accelerated through the full pipeline on the real Redis, every count reconciled."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from feeds.bus import RedisBus
from feeds.dedup import story_key
from feeds.models import Alert, LabelledItem, from_fields
from feeds.pipeline import Pipeline, PipelineConfig
from feeds.sources import FileReplayer
from tests.feeds.conftest import many_rows, write_news
from tests.feeds.test_pipeline import Recorder, run_until_drained
from tools.news_labels import stored_ids
from tools.store import news_dir, partition_files

pytestmark = pytest.mark.redis


class SlowNotifier(Recorder):
    """Takes 0.5 s per alert, like a phone API on a bad day."""

    name = "slow"

    def send(self, alert: Alert) -> None:
        time.sleep(0.5)
        super().send(alert)


def test_a_slow_notifier_does_not_block_labelling_or_storing(
    redis_bus: RedisBus, redis_prefix: str, tmp_path: Path
) -> None:
    n = 100  # 20 alerts x 0.5 s = 10 s of notifying
    slow = SlowNotifier()
    cfg = PipelineConfig(prefix=redis_prefix, store=tmp_path / "store", fsync=False)
    pipe = Pipeline(
        redis_bus,
        cfg,
        [FileReplayer([write_news(tmp_path / "n.csv", many_rows(n))])],
        notifiers=[slow],
    )
    t0 = time.monotonic()
    pipe.start()
    try:

        def done() -> bool:
            st = pipe.stats()
            stored = len(stored_ids(cfg.dataset, cfg.store))
            return st.get("labelled", 0) == n and stored == n and st.get("alerts", 0) == 20

        while not done():  # a hang guard only: the proof is the order of events below
            assert time.monotonic() - t0 < 60, f"labelling held up: {pipe.stats()}"
            time.sleep(0.02)
        # every item labelled, stored and alerted while the notifier (10 s of sending) is still
        # at work: a pipeline that waited on its notifier could not get here before it finished
        assert len(slow.alerts) < 20
        while len(slow.alerts) < 20:
            assert time.monotonic() - t0 < 90
            time.sleep(0.05)
    finally:
        pipe.shutdown()
    assert pipe.stats()["notified"] == 20


@pytest.mark.slow
@pytest.mark.data
def test_endurance_the_shared_headlines_through_the_full_pipeline_on_redis(
    redis_bus: RedisBus, redis_prefix: str, tmp_path: Path, shared_data: Path
) -> None:
    files = FileReplayer.discover(shared_data / "news")
    rows, rejected = FileReplayer(files).rows()
    rec = Recorder()
    # a small cap, so trimming runs hundreds of times while entries are in flight
    cfg = PipelineConfig(prefix=redis_prefix, store=tmp_path / "store", fsync=False, maxlen=200)
    # 26 months (2021-10 .. 2023-12, with a gap between the files) at two months a second
    src = FileReplayer(files, speed=86_400 * 60)
    pipe = Pipeline(redis_bus, cfg, [src], notifiers=[rec])
    run_until_drained(pipe, timeout=120)  # a hang guard, not a speed figure
    st = pipe.stats()
    raw_total = len(rows) + len(rejected)
    assert raw_total == 2234 + 344  # both files, every row accounted for
    assert st["collected"] + st.get("duplicates", 0) + st.get("malformed", 0) == raw_total
    assert st["labelled"] == st["collected"]
    ids = stored_ids(cfg.dataset, cfg.store)
    assert len(ids) == len(set(ids)) == st["collected"] == st["stored"]
    # streams were trimmed while running (the counts above show nothing unprocessed was lost);
    # a stream may exceed the cap while consumers lag, and once all is processed a trim brings
    # each one down to the cap exactly
    topo = pipe.topo
    raw_info = redis_bus.r.xinfo_stream(topo.raw)
    assert raw_info["entries-added"] == st["collected"]
    assert raw_info["length"] < st["collected"] - 1000  # trimmed during the run
    for stream, groups in topo.groups().items():
        redis_bus.trim(stream, groups, 200)
    assert redis_bus.length(topo.raw) == 200 and redis_bus.length(topo.labelled) == 200
    last = [from_fields(LabelledItem, f) for _, f in redis_bus.entries(topo.labelled)]
    assert [i.id for i in last] == [i.id for i in sorted(last, key=lambda i: i.labelled_at)]
    # alerts: each over-threshold story once; the alert stream holds exactly those
    alerts = [a.item_id for a in rec.alerts]
    assert len(alerts) == len(set(alerts)) == st["alerts"] == st["notified"]
    assert st["alerts"] + st["below_threshold"] + st.get("story_repeats", 0) == st["labelled"]
    # expected from the store, independently: an item's importance decayed by its age when it
    # was collected (date-only stamps are a day old when seen), each story counted once
    tables = [pq.read_table(p) for p in partition_files(news_dir(cfg.store, cfg.dataset))]
    df = pa.concat_tables(tables).to_pandas()
    lag_h = (df["ts"] - df["published_at"]).dt.total_seconds() / 3600
    value = df["importance"] * 0.5 ** (lag_h / cfg.half_life_hours)
    story = [story_key(t, u) for t, u in zip(df["title"], df["url"], strict=True)]
    sure = {st_ for st_, v in zip(story, value, strict=True) if v >= cfg.threshold + 1e-3}
    maybe = {st_ for st_, v in zip(story, value, strict=True) if v >= cfg.threshold}
    alerted = {a.story for a in rec.alerts}
    assert sure <= alerted <= maybe
    assert len(sure) > 50  # the check has teeth: the shared files hold many important stories
