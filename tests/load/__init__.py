"""Load tests: the real tool under gunicorn, driven over loopback by bench/launch_load.py."""
