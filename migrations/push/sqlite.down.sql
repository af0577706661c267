DROP TABLE push_dead_letters;
DROP TABLE push_log;
DROP TABLE push_state;
