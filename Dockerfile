FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY catalog ./catalog
COPY ingestors ./ingestors
COPY policies ./policies
RUN pip install --no-cache-dir .
EXPOSE 5000
ENTRYPOINT ["catalog"]
CMD ["serve", "--host", "0.0.0.0", "--port", "5000", "--data-dir", "/data"]
