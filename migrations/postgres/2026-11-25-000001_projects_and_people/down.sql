DROP TABLE freeze_windows;
DROP TABLE project_host_groups;
DROP TABLE hosts;
DROP TABLE host_groups;
DROP TABLE project_members;
DROP TABLE projects;
DROP TABLE users;
