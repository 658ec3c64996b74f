-- CleanUpTableInteractionsForFacebook851.sql for Microsoft SQL Server. Drops from table
-- interactions, where present, these columns and their indexes: facebookPostId,
-- facebookInQueueAtTarget, facebookCommentId, facebookInBufferBeforeTarget. Safe to run again. Run
-- it before AlterTableInteractionsForFacebook851.sql, with Interaction Server stopped. Generated
-- by gsetup from gsetup/packages/columns.py with 'python -m gsetup.sqlscripts.generate': do not
-- edit by hand.

IF EXISTS (SELECT 1 FROM sys.indexes WHERE name = 'ix_itx_facebookPostId' AND object_id = OBJECT_ID('interactions'))
    DROP INDEX ix_itx_facebookPostId ON interactions;
GO

IF COL_LENGTH('interactions', 'facebookPostId') IS NOT NULL
    ALTER TABLE interactions DROP COLUMN facebookPostId;
GO

IF COL_LENGTH('interactions', 'facebookInQueueAtTarget') IS NOT NULL
    ALTER TABLE interactions DROP COLUMN facebookInQueueAtTarget;
GO

IF COL_LENGTH('interactions', 'facebookCommentId') IS NOT NULL
    ALTER TABLE interactions DROP COLUMN facebookCommentId;
GO

IF COL_LENGTH('interactions', 'facebookInBufferBeforeTarget') IS NOT NULL
    ALTER TABLE interactions DROP COLUMN facebookInBufferBeforeTarget;
GO
