-- Reserved: filled by the change that needs it (placeholders are removed before release).
SELECT 1;
