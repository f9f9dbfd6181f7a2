# StyleBot for a GPU host: `docker compose up -d` (see compose.yaml), or
#   docker build -t stylebot . && docker run --gpus all --env-file .env -v stylebot-data:/data stylebot
# The host needs the NVIDIA driver and the NVIDIA Container Toolkit; CUDA and cuDNN come from pip
# (tensorflow[and-cuda], the project's `gpu` extra), so the base image is plain Python.
FROM python:3.11-slim-bookworm

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    KERAS_BACKEND=tensorflow \
    KERAS_HOME=/opt/keras \
    STYLEBOT_DATA_DIR=/data

# A non-root user owns the data volume and KERAS_HOME (Keras falls back to /tmp when KERAS_HOME isn't writable).
RUN groupadd --system --gid 10001 stylebot \
    && useradd --system --uid 10001 --gid stylebot --create-home --home-dir /home/stylebot stylebot \
    && mkdir -p /app /data /opt/keras \
    && chown stylebot:stylebot /data /opt/keras

WORKDIR /app

# The dependencies first, read from pyproject.toml: this big layer (TensorFlow with CUDA) stays cached while
# only the code changes.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['gpu']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The VGG19 ImageNet weights, fetched once at build time into KERAS_HOME (the engine's get_file finds them there).
# get_file checks the MD5; md5sum checks it again, so a bad download fails the build.
ARG VGG19_FILE=vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5
ARG VGG19_URL=https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5
ARG VGG19_MD5=253f8cb515780f3b799900260a226db6
USER 10001:10001
RUN python -c "import sys, keras; keras.utils.get_file(sys.argv[1], sys.argv[2], cache_subdir='models', \
file_hash=sys.argv[3])" "${VGG19_FILE}" "${VGG19_URL}" "${VGG19_MD5}" \
    && echo "${VGG19_MD5}  ${KERAS_HOME}/models/${VGG19_FILE}" | md5sum --check --strict -
USER 0:0

# The code, installed like any package (the migrations are package data), and `stylebot` is on PATH.
COPY bench ./bench
COPY bot ./bot
COPY engine ./engine
COPY imaging ./imaging
COPY jobs ./jobs
COPY migrations ./migrations
COPY presence ./presence
COPY settings ./settings
COPY sketch ./sketch
COPY stylebot ./stylebot
COPY worker ./worker
RUN pip install --no-deps . \
    && rm -rf /app/bot /app/engine /app/imaging /app/jobs /app/migrations /app/stylebot /app/worker \
    && stylebot --help > /dev/null

USER 10001:10001
VOLUME ["/data"]
# Prometheus metrics, when STYLEBOT_METRICS_PORT=9108 (off by default).
EXPOSE 9108
# The webhook server, when STYLEBOT_WEBHOOK_URL is set (long polling needs no port). Outside a container it
# listens on 127.0.0.1 (the proxy on the same machine); in one, the proxy comes from another container.
ENV STYLEBOT_WEBHOOK_LISTEN=0.0.0.0
EXPOSE 8443

# Healthy while the bot's delivery loop and at least one worker beat (the engine loads within start-period).
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 CMD ["stylebot", "health"]

# SIGTERM (docker stop): stop taking updates, let running jobs finish or go back to the queue, then exit.
STOPSIGNAL SIGTERM
CMD ["stylebot", "run"]
