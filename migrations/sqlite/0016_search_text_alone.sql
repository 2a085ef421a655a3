-- Free text is found in project_search.search_text alone. The character
-- bigrams of project_terms only told the search which rows to test: a text
-- in a project's search text has each of its bigrams among the project's
-- terms, so the test of the text decides by itself. They were more rows
-- than events, written by every fold and sorted by every rebuild.
DROP TABLE project_terms;
