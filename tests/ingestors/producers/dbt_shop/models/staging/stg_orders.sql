select id as order_id, customer_id, cast(ordered_at as date) as ordered_at, amount
from {{ ref('raw_orders') }}
