-- One row per customer: the email is hashed, so this table holds no readable address.
select
    c.customer_id,
    md5(lower(c.email)) as email_hash,
    c.country_code,
    count(o.order_id) as orders,
    coalesce(sum(o.amount), 0) as total_amount
from {{ ref('stg_customers') }} c
left join {{ ref('stg_orders') }} o on o.customer_id = c.customer_id
group by 1, 2, 3
