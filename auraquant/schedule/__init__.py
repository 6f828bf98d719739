"""The desk on a schedule: the trading cycle on a clock aligned to bar closes, in this process
(``auraquant run``) or on Celery workers (``auraquant worker`` / ``auraquant beat``), with each
(desk, symbol, time) meeting held exactly once (``schedule.claims``)."""
