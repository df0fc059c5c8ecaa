-- `SELECT <sign> AS sign, r.<inputs> FROM <rel> r <tail>`: +1 adds a row, -1 subtracts it.
CREATE OR REPLACE FUNCTION spend_rollup_input(rel TEXT, sign INTEGER, tail TEXT DEFAULT '') RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('SELECT %s AS sign, %s FROM %s r %s', sign, spend_rollup_input_columns('r'), rel, tail)
$$;
