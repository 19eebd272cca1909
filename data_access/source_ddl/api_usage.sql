-- InfiniteStories' `api_usage` from the "Database Documentation" seed. The seed writes its indexes
-- inline (not valid PostgreSQL) and references auth.users; here they are separate statements and the
-- foreign key is left out.
CREATE TABLE IF NOT EXISTS api_usage (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          uuid,
    function_name    text NOT NULL,
    request_id       text UNIQUE,
    status           text CHECK (status IN ('success', 'error', 'rate_limited')),
    response_time_ms integer CHECK (response_time_ms >= 0),
    tokens_used      integer CHECK (tokens_used >= 0),
    cost_estimate    numeric(10, 6) CHECK (cost_estimate >= 0),
    error_message    text,
    error_code       text,
    metadata         jsonb,
    created_at       timestamptz DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_usage_user_created ON api_usage (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_usage_function_created ON api_usage (function_name, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_usage_status ON api_usage (status, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_usage_request ON api_usage (request_id);
