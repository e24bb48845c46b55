-- GET /v1/audit filters by action, by actor and by time: without these, a filter that
-- matches little walks every event of the user.
CREATE INDEX audit_events_user_action ON audit_events(user_id, action, seq);
CREATE INDEX audit_events_user_actor ON audit_events(user_id, actor, seq);
CREATE INDEX audit_events_user_at ON audit_events(user_id, at);
