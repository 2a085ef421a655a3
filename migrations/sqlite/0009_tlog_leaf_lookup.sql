-- The project page says at which leaf of the transparency log a project's
-- latest record is: the leaves by project.
CREATE INDEX tlog_leaves_project ON tlog_leaves (project_code, project_seq);
