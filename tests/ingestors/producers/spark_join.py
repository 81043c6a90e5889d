"""A small Spark job for the producer test: read two CSV files, join them in SQL, write a table.

    python spark_join.py WORK_DIR JARS  (Spark conf, the OpenLineage transport among it, from SPARK_CONF_JSON)
"""

import json
import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

work, jars = Path(sys.argv[1]), sys.argv[2]
(work / "customers.csv").write_text("id,email,country\n1,anna@example.de,DE\n2,luca@example.it,IT\n")
(work / "orders.csv").write_text("order_id,customer_id,amount\n10,1,42.5\n11,1,12.0\n12,2,99.9\n")

builder = (SparkSession.builder.master("local[1]").appName("orders_by_country")
           .config("spark.jars", jars)
           .config("spark.extraListeners", "io.openlineage.spark.agent.OpenLineageSparkListener")
           .config("spark.sql.warehouse.dir", str(work / "warehouse"))
           .config("spark.ui.enabled", "false")
           .config("spark.sql.shuffle.partitions", "1"))
for key, value in json.loads(os.environ["SPARK_CONF_JSON"]).items():
    builder = builder.config(key, value)
spark = builder.getOrCreate()
spark.read.option("header", True).option("inferSchema", True).csv(str(work / "customers.csv")) \
    .createOrReplaceTempView("customers")
spark.read.option("header", True).option("inferSchema", True).csv(str(work / "orders.csv")) \
    .createOrReplaceTempView("orders")
spark.sql("""
    SELECT c.country, count(o.order_id) AS orders, sum(o.amount) AS total_amount
    FROM customers c JOIN orders o ON o.customer_id = c.id
    GROUP BY c.country
""").write.mode("overwrite").saveAsTable("orders_by_country")
spark.stop()
