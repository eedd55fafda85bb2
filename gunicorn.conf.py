"""gunicorn settings for production, `make bench` and `make faults`.

    .venv/bin/gunicorn -c gunicorn.conf.py community.wsgi

Run it behind a buffering reverse proxy (deploy/nginx.conf): the proxy reads each request
whole before it passes it on, so a slow or stalled client costs the proxy a connection slot
and never one of the app's threads.

Worker class gthread: each worker process serves `threads` requests at once. A request waiting
on PostgreSQL or Redis holds a thread, not a process, and a kept-alive or not-yet-sending
connection waits in the worker's poller, not in a thread. The app is synchronous Django code
that spends its time in templates and the database; threads fit that without an async rewrite.
Without the proxy, a client sending its headers one byte per second still holds one thread
until they are complete (gunicorn has no header timeout), so `workers × threads` slow
clients would starve the site; that is why the proxy is part of the deployment.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Two processes per core is a good start for this mix of CPU (templates) and waiting (SQL).
workers = int(os.environ.get("GUNICORN_WORKERS", str(2 * (os.cpu_count() or 1))))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))

# A worker that has not answered its master for this long is restarted. Database statements
# end after DATABASE_STATEMENT_TIMEOUT (5 s) and Redis calls after REDIS_TIMEOUT (0.5 s), so
# a healthy request never comes near it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5

# Requests larger than a browser ever sends are refused before Django sees them.
limit_request_line = 4094
limit_request_fields = 60
limit_request_field_size = 8190

# Load the app once in the master: the start-up checks (encryption keys against the data)
# then stop the whole server with one clear message instead of failing every worker.
preload_app = True

# Workers are recycled now and then, so slow growth in memory never accumulates.
max_requests = 5000
max_requests_jitter = 500

# The proxy on the same host sets X-Forwarded-For/-Proto; no other peer is trusted for them.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Access log without query strings: a search term must never end up in a log file.
# (GUNICORN_ACCESS_LOG="" turns it off, as `make bench` does.)
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
