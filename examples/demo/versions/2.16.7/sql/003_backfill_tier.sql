UPDATE customers SET tier = CASE WHEN spent >= 1000 THEN 'gold' ELSE 'standard' END WHERE tier IS NULL;
