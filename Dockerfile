# syntax=docker/dockerfile:1
# The CoE Portal image. One image runs every process: gunicorn (the default CMD), the Celery
# worker, Celery beat and migrations; docker-compose.yml shows how. Configuration comes from
# environment variables, all listed in .env.example. TLS is expected to end at a proxy in front.
#
#   docker build -t coe-portal .
#   docker run --rm -p 8000:8000 -e SECRET_KEY=... -e ALLOWED_HOSTS=... -e DATABASE_URL=... coe-portal

FROM python:3.11-slim

# DEBUG=0 turns on production hardening; settings.py then refuses to start without
# SECRET_KEY and ALLOWED_HOSTS, which are given at run time, never baked in.
# Static files live outside VAR_DIR so a volume mounted on var/ cannot hide them.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DEBUG=0 \
    VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app

WORKDIR /app

# The whole tree: manage.py, templates/ and static/ are read at run time from /app.
# Source stays owned by root, so the app user cannot change code; it writes only var/.
COPY . .
RUN pip install --no-cache-dir --disable-pip-version-check . \
 && rm -rf build ./*.egg-info \
 && mkdir -p "$VAR_DIR" "$STATIC_ROOT" \
 && chown app:app "$VAR_DIR" "$STATIC_ROOT"

USER app

# settings.py needs a key and hosts with DEBUG=0; these throwaway values exist only for this
# command and are not kept in the image.
RUN SECRET_KEY=collectstatic-build-only-not-a-secret-collectstatic-build-only \
    ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

EXPOSE 8000

# Three sync workers suit a container with one or two CPUs: (2 x CPUs) + 1.
# "-" sends the access and error logs to stdout/stderr. The config file adds the worker hooks.
CMD ["gunicorn", "coe_portal.wsgi:application", \
     "--config", "coe_portal/gunicorn.py", \
     "--bind", "0.0.0.0:8000", \
     "--workers", "3", \
     "--timeout", "60", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", \
     "--error-logfile", "-"]
