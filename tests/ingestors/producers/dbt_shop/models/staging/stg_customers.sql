select id as customer_id, first_name, last_name, email, country_code
from {{ ref('raw_customers') }}
