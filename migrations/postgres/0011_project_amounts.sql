-- Two amounts of each project summary as columns, so that the site can
-- total them by stage with one GROUP BY ("amounts under way" on the home
-- page) instead of decoding every summary: the approved total investment
-- (ProjectSummary.baseline_investment_fen) and the current contract value
-- (current_contract_price_fen, 0 before the first contract). The projector
-- writes them with the summary; rows written before this migration read 0
-- until the next event of their project or `gongkai projector rebuild`.
ALTER TABLE public_projects ADD COLUMN approved_investment_fen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE public_projects ADD COLUMN contract_value_fen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE full_projects ADD COLUMN approved_investment_fen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE full_projects ADD COLUMN contract_value_fen BIGINT NOT NULL DEFAULT 0;
