"""The environment bench/web.py runs the server under (and bench/web_profile.py runs in process):
DEBUG=0, and the API and hook rate limits raised, not removed (the limiter still counts in Redis)."""

BENCH_ENV = {"LOG_LEVEL": "WARNING", "DEBUG": "0", "API_RATE_PER_IP": "100000000/min",
             "API_RATE_PER_ORG": "100000000/min", "HOOK_RATE_PER_IP": "100000000/min",
             "HOOK_RATE_PER_ORG": "100000000/min"}
