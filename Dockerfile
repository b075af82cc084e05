FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=dsr_kb.settings.production \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media

WORKDIR /app
RUN useradd --create-home --uid 1000 dsr

COPY pyproject.toml README.md LICENSE ./
COPY dsr_kb ./dsr_kb
COPY projects ./projects
RUN pip install .

COPY manage.py ./
COPY templates ./templates
COPY static ./static
# collectstatic needs settings but no database or secret of the deployment.
RUN SECRET_KEY=collectstatic-only-not-used-at-run-time-0123456789abcdefghij \
    DATABASE_URL=postgres://unused@localhost/unused \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/media && chown -R dsr:dsr /app/media

USER dsr
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["gunicorn", "dsr_kb.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
