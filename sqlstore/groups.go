package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

var (
	errGroupNotFound = kizuna.NotFound("Group")
	errBoardNotFound = kizuna.NotFound("Board")
	errPostNotFound  = kizuna.NotFound("Post")
)

const groupCols = `g.id, g.tenant_id, g.name, g.parent_id, g.room_id, g.created_at,
	(SELECT COUNT(*) FROM group_members gm WHERE gm.group_id = g.id)`

func scanGroup(sc scanner) (kizuna.Group, error) {
	var g kizuna.Group
	var created int64
	err := sc.Scan(&g.ID, &g.TenantID, &g.Name, &g.ParentID, &g.RoomID, &created, &g.MemberCount)
	g.CreatedAt = fromMillis(created)
	return g, err
}

// CreateGroup implements store.Groups.
func (db *DB) CreateGroup(ctx context.Context, g *kizuna.Group, managerID string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if g.ParentID != "" {
			var one int
			err := tx.queryRow(ctx, `SELECT 1 FROM tenant_groups WHERE id = ? AND tenant_id = ?`, g.ParentID, g.TenantID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return kizuna.Errorf(kizuna.ErrNotFound, "parent_not_found", "The parent group does not exist.")
			}
			if err != nil {
				return err
			}
		}
		g.CreatedAt = tx.now
		if _, err := tx.exec(ctx, `INSERT INTO tenant_groups (id, tenant_id, name, parent_id, room_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			g.ID, g.TenantID, g.Name, g.ParentID, g.RoomID, millis(tx.now)); err != nil {
			return err
		}
		if managerID == "" {
			return nil
		}
		g.MemberCount = 1
		_, err := tx.exec(ctx, `INSERT INTO group_members (group_id, account_id, role) VALUES (?, ?, 'manager')`, g.ID, managerID)
		return err
	})
}

// Group implements store.Groups.
func (db *DB) Group(ctx context.Context, tenantID, id string) (*kizuna.Group, error) {
	g, err := scanGroup(db.queryRow(ctx, `SELECT `+groupCols+` FROM tenant_groups g WHERE g.id = ? AND g.tenant_id = ?`, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errGroupNotFound
	}
	return &g, db.mapErr(err)
}

// TenantGroups implements store.Groups.
func (db *DB) TenantGroups(ctx context.Context, tenantID string) ([]kizuna.Group, error) {
	return queryAll(ctx, db, scanGroup, `SELECT `+groupCols+` FROM tenant_groups g WHERE g.tenant_id = ? ORDER BY g.name, g.id`, tenantID)
}

// GroupsOf implements store.Groups.
func (db *DB) GroupsOf(ctx context.Context, accountID string) ([]string, error) {
	return queryAll(ctx, db, func(sc scanner) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, `SELECT group_id FROM group_members WHERE account_id = ?`, accountID)
}

// UpdateGroup implements store.Groups. The new parent's ancestors are
// walked in the same transaction, so two concurrent moves cannot make a
// cycle between them.
func (db *DB) UpdateGroup(ctx context.Context, tenantID, id string, name, parentID *string) (*kizuna.Group, error) {
	var out *kizuna.Group
	err := db.inTx(ctx, func(tx *Tx) error {
		g, err := scanGroup(tx.queryRow(ctx, `SELECT `+groupCols+` FROM tenant_groups g WHERE g.id = ? AND g.tenant_id = ?`, id, tenantID))
		if errors.Is(err, sql.ErrNoRows) {
			return errGroupNotFound
		}
		if err != nil {
			return err
		}
		if name != nil {
			g.Name = *name
		}
		if parentID != nil {
			for at, steps := *parentID, 0; at != ""; steps++ {
				if at == id || steps > 1000 {
					return kizuna.Errorf(kizuna.ErrConflict, "cyclic_group", "A group cannot be placed under itself or one of its subgroups.")
				}
				var next string
				err := tx.queryRow(ctx, `SELECT parent_id FROM tenant_groups WHERE id = ? AND tenant_id = ?`, at, tenantID).Scan(&next)
				if errors.Is(err, sql.ErrNoRows) {
					return kizuna.Errorf(kizuna.ErrNotFound, "parent_not_found", "The parent group does not exist.")
				}
				if err != nil {
					return err
				}
				at = next
			}
			g.ParentID = *parentID
		}
		if _, err := tx.exec(ctx, `UPDATE tenant_groups SET name = ?, parent_id = ? WHERE id = ?`, g.Name, g.ParentID, id); err != nil {
			return err
		}
		out = &g
		return nil
	})
	return out, err
}

// GroupOfRoom implements store.Groups.
func (db *DB) GroupOfRoom(ctx context.Context, roomID string) (string, error) {
	var id string
	err := db.queryRow(ctx, `SELECT id FROM tenant_groups WHERE room_id = ?`, roomID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, db.mapErr(err)
}

// SetGroupRoom implements store.Groups.
func (db *DB) SetGroupRoom(ctx context.Context, tenantID, id, roomID string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE tenant_groups SET room_id = ? WHERE id = ? AND tenant_id = ?`, roomID, id, tenantID)
		return err
	})
}

// DeleteGroup implements store.Groups.
func (db *DB) DeleteGroup(ctx context.Context, tenantID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM tenant_groups WHERE parent_id = ? AND tenant_id = ?`, id, tenantID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return kizuna.Errorf(kizuna.ErrConflict, "group_has_subgroups", "Move or delete its %d subgroups first.", n)
		}
		for _, q := range []string{
			`DELETE FROM group_members WHERE group_id IN (SELECT id FROM tenant_groups WHERE id = ? AND tenant_id = ?)`,
			`DELETE FROM board_rules WHERE kind = 'group' AND ref_id = ? AND board_id IN (SELECT id FROM boards WHERE tenant_id = ?)`,
			`UPDATE boards SET group_id = '' WHERE group_id = ? AND tenant_id = ?`,
		} {
			if _, err := tx.exec(ctx, q, id, tenantID); err != nil {
				return err
			}
		}
		res, err := tx.exec(ctx, `DELETE FROM tenant_groups WHERE id = ? AND tenant_id = ?`, id, tenantID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, errGroupNotFound)
		}
		return nil
	})
}

// GroupMembers implements store.Groups.
func (db *DB) GroupMembers(ctx context.Context, groupID string) ([]kizuna.GroupMembership, error) {
	return queryAll(ctx, db, func(sc scanner) (kizuna.GroupMembership, error) {
		var m kizuna.GroupMembership
		return m, sc.Scan(&m.GroupID, &m.AccountID, &m.Role)
	}, `SELECT gm.group_id, gm.account_id, gm.role FROM group_members gm JOIN accounts a ON a.id = gm.account_id
		WHERE gm.group_id = ? AND a.status <> 'deleted' ORDER BY gm.role, gm.account_id`, groupID)
}

// AddGroupMembers implements store.Groups. Membership is checked against
// the current domain→tenant mapping inside the transaction: only the
// tenant's internal members may join (R10).
func (db *DB) AddGroupMembers(ctx context.Context, tenantID, groupID string, accountIDs []string, role kizuna.GroupRole) error {
	return db.inTx(ctx, func(tx *Tx) error {
		for _, id := range accountIDs {
			var one int
			err := tx.queryRow(ctx, `SELECT 1 FROM accounts a JOIN domains d ON d.id = a.domain_id
				WHERE a.id = ? AND a.status <> 'deleted' AND d.tenant_id = ? AND d.deleted_at = 0`, id, tenantID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return kizuna.Errorf(kizuna.ErrInvalid, "not_internal", "Only the tenant's own members can join its groups.")
			}
			if err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `DELETE FROM group_members WHERE group_id = ? AND account_id = ?`, groupID, id); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `INSERT INTO group_members (group_id, account_id, role) VALUES (?, ?, ?)`, groupID, id, string(role)); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveGroupMember implements store.Groups.
func (db *DB) RemoveGroupMember(ctx context.Context, groupID, accountID string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `DELETE FROM group_members WHERE group_id = ? AND account_id = ?`, groupID, accountID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, kizuna.NotFound("Group member"))
		}
		return nil
	})
}

func (db *DB) boardRules(ctx context.Context, boardIDs []string) (map[string][]kizuna.BoardRule, error) {
	out := map[string][]kizuna.BoardRule{}
	for chunk := range slices.Chunk(boardIDs, 500) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		type row struct {
			board string
			rule  kizuna.BoardRule
		}
		rows, err := queryAll(ctx, db, func(sc scanner) (row, error) {
			var r row
			return r, sc.Scan(&r.board, &r.rule.Right, &r.rule.Kind, &r.rule.ID)
		}, `SELECT board_id, rights, kind, ref_id FROM board_rules WHERE board_id IN (`+placeholders(len(chunk))+`) ORDER BY board_id, rights, kind, ref_id`, args...)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.board] = append(out[r.board], r.rule)
		}
	}
	return out, nil
}

const boardCols = `id, tenant_id, name, group_id, allow_restricted, created_at`

func scanBoard(sc scanner) (*kizuna.Board, error) {
	var b kizuna.Board
	var created int64
	err := sc.Scan(&b.ID, &b.TenantID, &b.Name, &b.GroupID, &b.AllowRestricted, &created)
	b.CreatedAt = fromMillis(created)
	b.Rules = []kizuna.BoardRule{}
	return &b, err
}

func insertRules(ctx context.Context, tx *Tx, b *kizuna.Board) error {
	seen := map[kizuna.BoardRule]bool{}
	for _, r := range b.Rules {
		if seen[r] {
			continue
		}
		seen[r] = true
		if _, err := tx.exec(ctx, `INSERT INTO board_rules (board_id, rights, kind, ref_id) VALUES (?, ?, ?, ?)`, b.ID, string(r.Right), string(r.Kind), r.ID); err != nil {
			return err
		}
	}
	return nil
}

// CreateBoard implements store.Groups.
func (db *DB) CreateBoard(ctx context.Context, b *kizuna.Board) error {
	return db.inTx(ctx, func(tx *Tx) error {
		b.CreatedAt = tx.now
		if _, err := tx.exec(ctx, `INSERT INTO boards (`+boardCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			b.ID, b.TenantID, b.Name, b.GroupID, b.AllowRestricted, millis(tx.now)); err != nil {
			return err
		}
		return insertRules(ctx, tx, b)
	})
}

// Board implements store.Groups.
func (db *DB) Board(ctx context.Context, tenantID, id string) (*kizuna.Board, error) {
	b, err := scanBoard(db.queryRow(ctx, `SELECT `+boardCols+` FROM boards WHERE id = ? AND tenant_id = ?`, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBoardNotFound
	}
	if err != nil {
		return nil, db.mapErr(err)
	}
	rules, err := db.boardRules(ctx, []string{b.ID})
	if rs := rules[b.ID]; rs != nil {
		b.Rules = rs
	}
	return b, err
}

// TenantBoards implements store.Groups.
func (db *DB) TenantBoards(ctx context.Context, tenantID string) ([]*kizuna.Board, error) {
	boards, err := queryAll(ctx, db, scanBoard, `SELECT `+boardCols+` FROM boards WHERE tenant_id = ? ORDER BY name, id`, tenantID)
	if err != nil || len(boards) == 0 {
		return boards, err
	}
	ids := make([]string, len(boards))
	for i, b := range boards {
		ids[i] = b.ID
	}
	rules, err := db.boardRules(ctx, ids)
	for _, b := range boards {
		if rs := rules[b.ID]; rs != nil {
			b.Rules = rs
		}
	}
	return boards, err
}

// UpdateBoard implements store.Groups.
func (db *DB) UpdateBoard(ctx context.Context, b *kizuna.Board, audit *kizuna.AuditEntry) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE boards SET name = ?, allow_restricted = ? WHERE id = ? AND tenant_id = ?`, b.Name, b.AllowRestricted, b.ID, b.TenantID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, errBoardNotFound)
		}
		if _, err := tx.exec(ctx, `DELETE FROM board_rules WHERE board_id = ?`, b.ID); err != nil {
			return err
		}
		if err := insertRules(ctx, tx, b); err != nil {
			return err
		}
		if audit != nil {
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
}

// DeleteBoard implements store.Groups.
func (db *DB) DeleteBoard(ctx context.Context, tenantID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		var one int
		err := tx.queryRow(ctx, `SELECT 1 FROM boards WHERE id = ? AND tenant_id = ?`, id, tenantID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errBoardNotFound
		}
		if err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM post_reads WHERE post_id IN (SELECT id FROM posts WHERE board_id = ?)`,
			`DELETE FROM post_comments WHERE post_id IN (SELECT id FROM posts WHERE board_id = ?)`,
			`DELETE FROM posts WHERE board_id = ?`,
			`DELETE FROM board_rules WHERE board_id = ?`,
			`DELETE FROM boards WHERE id = ?`,
		} {
			if _, err := tx.exec(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
}

const postCols = `p.id, p.board_id, p.author_id, p.title, p.body, p.pinned, p.must_read, p.created_at, p.updated_at,
	(SELECT COUNT(*) FROM post_comments c WHERE c.post_id = p.id),
	(SELECT COUNT(*) FROM post_reads r WHERE r.post_id = p.id),
	EXISTS (SELECT 1 FROM post_reads r WHERE r.post_id = p.id AND r.account_id = ?)`

func scanPost(sc scanner) (*kizuna.Post, error) {
	var p kizuna.Post
	var created, updated int64
	err := sc.Scan(&p.ID, &p.BoardID, &p.AuthorID, &p.Title, &p.Body, &p.Pinned, &p.MustRead, &created, &updated, &p.Comments, &p.Readers, &p.ReadByViewer)
	p.CreatedAt, p.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &p, err
}

// CreatePost implements store.Groups.
func (db *DB) CreatePost(ctx context.Context, p *kizuna.Post) error {
	return db.inTx(ctx, func(tx *Tx) error {
		p.CreatedAt, p.UpdatedAt = tx.now, tx.now
		_, err := tx.exec(ctx, `INSERT INTO posts (id, board_id, author_id, title, body, pinned, must_read, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.BoardID, p.AuthorID, p.Title, p.Body, p.Pinned, p.MustRead, millis(tx.now), millis(tx.now))
		return err
	})
}

// Post implements store.Groups.
func (db *DB) Post(ctx context.Context, boardID, id string) (*kizuna.Post, error) {
	p, err := scanPost(db.queryRow(ctx, `SELECT `+postCols+` FROM posts p WHERE p.id = ? AND p.board_id = ? AND p.deleted_at = 0`, "", id, boardID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errPostNotFound
	}
	return p, db.mapErr(err)
}

// Posts implements store.Groups: pinned posts (up to 50) head the first
// page; Limit counts the others.
func (db *DB) Posts(ctx context.Context, boardID string, f store.PostFilter) ([]*kizuna.Post, error) {
	q := `SELECT ` + postCols + ` FROM posts p WHERE p.board_id = ? AND p.deleted_at = 0`
	args := []any{f.ViewerID, boardID}
	// Pinned posts lead the first page; the pages are of the others.
	q += ` AND p.pinned = ?`
	args = append(args, false)
	if f.Before != "" {
		q += ` AND p.id < ? ORDER BY p.id DESC LIMIT ?`
		args = append(args, f.Before, f.Limit)
		return queryAll(ctx, db, scanPost, q, args...)
	}
	q += ` ORDER BY p.id DESC LIMIT ?`
	posts, err := queryAll(ctx, db, scanPost, q, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	pinned, err := queryAll(ctx, db, scanPost, `SELECT `+postCols+` FROM posts p WHERE p.board_id = ? AND p.deleted_at = 0 AND p.pinned = ? ORDER BY p.id DESC LIMIT 50`, f.ViewerID, boardID, true)
	if err != nil {
		return nil, err
	}
	return append(pinned, posts...), nil
}

// UpdatePost implements store.Groups.
func (db *DB) UpdatePost(ctx context.Context, p *kizuna.Post) error {
	return db.inTx(ctx, func(tx *Tx) error {
		p.UpdatedAt = tx.now
		res, err := tx.exec(ctx, `UPDATE posts SET title = ?, body = ?, pinned = ?, must_read = ?, updated_at = ? WHERE id = ? AND board_id = ? AND deleted_at = 0`,
			p.Title, p.Body, p.Pinned, p.MustRead, millis(tx.now), p.ID, p.BoardID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, errPostNotFound)
		}
		return nil
	})
}

// DeletePost implements store.Groups.
func (db *DB) DeletePost(ctx context.Context, boardID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE posts SET deleted_at = ? WHERE id = ? AND board_id = ? AND deleted_at = 0`, millis(tx.now), id, boardID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, errPostNotFound)
		}
		return nil
	})
}

// AddComment implements store.Groups.
func (db *DB) AddComment(ctx context.Context, c *kizuna.Comment) error {
	return db.inTx(ctx, func(tx *Tx) error {
		c.CreatedAt = tx.now
		_, err := tx.exec(ctx, `INSERT INTO post_comments (id, post_id, author_id, body, created_at) VALUES (?, ?, ?, ?, ?)`, c.ID, c.PostID, c.AuthorID, c.Body, millis(tx.now))
		return err
	})
}

// Comments implements store.Groups.
func (db *DB) Comments(ctx context.Context, postID string) ([]*kizuna.Comment, error) {
	return queryAll(ctx, db, func(sc scanner) (*kizuna.Comment, error) {
		var c kizuna.Comment
		var created int64
		err := sc.Scan(&c.ID, &c.PostID, &c.AuthorID, &c.Body, &created)
		c.CreatedAt = fromMillis(created)
		return &c, err
	}, `SELECT id, post_id, author_id, body, created_at FROM post_comments WHERE post_id = ? ORDER BY id LIMIT 1000`, postID)
}

// MarkPostRead implements store.Groups.
func (db *DB) MarkPostRead(ctx context.Context, postID, accountID string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO post_reads (post_id, account_id, read_at) VALUES (?, ?, ?) ON CONFLICT (post_id, account_id) DO NOTHING`, postID, accountID, millis(tx.now))
		return err
	})
}

// PostReaders implements store.Groups.
func (db *DB) PostReaders(ctx context.Context, postID string) ([]string, error) {
	return queryAll(ctx, db, func(sc scanner) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, `SELECT account_id FROM post_reads WHERE post_id = ? ORDER BY read_at, account_id`, postID)
}

// Restricted implements store.Groups.
func (db *DB) Restricted(ctx context.Context, accountIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for chunk := range slices.Chunk(accountIDs, 500) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		ids, err := queryAll(ctx, db, func(sc scanner) (string, error) {
			var id string
			return id, sc.Scan(&id)
		}, `SELECT account_id FROM restricted_members WHERE account_id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out[id] = true
		}
	}
	return out, nil
}

// SetRestricted implements store.Groups.
func (db *DB) SetRestricted(ctx context.Context, tenantID, accountID string, restricted bool, audit *kizuna.AuditEntry) error {
	return db.inTx(ctx, func(tx *Tx) error {
		var one int
		err := tx.queryRow(ctx, `SELECT 1 FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE a.id = ? AND a.status <> 'deleted' AND d.tenant_id = ?`, accountID, tenantID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return kizuna.NotFound("Member")
		}
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM restricted_members WHERE account_id = ?`, accountID); err != nil {
			return err
		}
		if restricted {
			if _, err := tx.exec(ctx, `INSERT INTO restricted_members (account_id, tenant_id, since) VALUES (?, ?, ?)`, accountID, tenantID, millis(tx.now)); err != nil {
				return err
			}
		}
		if audit != nil {
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
}

// TenantRestrictions implements store.Groups.
func (db *DB) TenantRestrictions(ctx context.Context, tenantID string) (kizuna.Restrictions, error) {
	var r kizuna.Restrictions
	err := db.queryRow(ctx, `SELECT hide_boards, limit_directory, no_invite_links, no_external_contacts FROM tenant_restrictions WHERE tenant_id = ?`, tenantID).
		Scan(&r.HideBoards, &r.LimitDirectory, &r.NoInviteLinks, &r.NoExternalContacts)
	if errors.Is(err, sql.ErrNoRows) {
		return kizuna.DefaultRestrictions, nil
	}
	return r, db.mapErr(err)
}

// SetTenantRestrictions implements store.Groups.
func (db *DB) SetTenantRestrictions(ctx context.Context, tenantID string, r kizuna.Restrictions, audit *kizuna.AuditEntry) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM tenant_restrictions WHERE tenant_id = ?`, tenantID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO tenant_restrictions (tenant_id, hide_boards, limit_directory, no_invite_links, no_external_contacts) VALUES (?, ?, ?, ?, ?)`,
			tenantID, r.HideBoards, r.LimitDirectory, r.NoInviteLinks, r.NoExternalContacts); err != nil {
			return err
		}
		if audit != nil {
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
}

// SearchDirectory implements store.Groups: for each of the tenant's
// domains, two index range reads (name and ID), merged here. Each read
// stops at limit, so a one-letter prefix in a million-member tenant costs
// no more than a precise one.
func (db *DB) SearchDirectory(ctx context.Context, tenantID, key string, limit int) ([]*kizuna.Account, error) {
	domains, err := queryAll(ctx, db, func(sc scanner) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, `SELECT id FROM domains WHERE tenant_id = ? AND deleted_at = 0`, tenantID)
	if err != nil {
		return nil, err
	}
	collate := ""
	if db.dialect.Name == "postgres" {
		collate = ` COLLATE "C"` // byte order, as the index is built
	}
	hi := key + "\U0010FFFF"
	type hit struct {
		key string
		a   *kizuna.Account
	}
	var hits []hit
	seen := map[string]bool{}
	for _, d := range domains {
		for _, col := range []string{"a.name_key", "a.local"} {
			rows, err := queryAll(ctx, db, func(sc scanner) (hit, error) {
				var h hit
				var created, updated int64
				var a kizuna.Account
				err := sc.Scan(&a.ID, &a.Kind, &a.TenantID, &a.DomainID, &a.Local, &a.DomainName, &a.TenantName,
					&a.DisplayName, &a.ContactMail, &a.Role, &a.Status, &a.MustChangePassword, &created, &updated, &h.key)
				a.CreatedAt, a.UpdatedAt = fromMillis(created), fromMillis(updated)
				h.a = &a
				return h, err
			}, directorySelect+`, `+col+` FROM accounts a JOIN domains d ON d.id = a.domain_id JOIN tenants t ON t.id = d.tenant_id
				WHERE a.domain_id = ? AND a.status <> 'deleted' AND `+col+collate+` >= ? AND `+col+collate+` < ?
				ORDER BY `+col+collate+` LIMIT ?`, d, key, hi, limit)
			if err != nil {
				return nil, err
			}
			for _, h := range rows {
				if !seen[h.a.ID] {
					seen[h.a.ID] = true
					hits = append(hits, h)
				}
			}
		}
	}
	slices.SortFunc(hits, func(x, y hit) int {
		if c := strings.Compare(x.key, y.key); c != 0 {
			return c
		}
		return strings.Compare(x.a.ID, y.a.ID)
	})
	out := make([]*kizuna.Account, 0, min(limit, len(hits)))
	for _, h := range hits[:min(limit, len(hits))] {
		out = append(out, h.a)
	}
	return out, nil
}

// directorySelect reads a member with its domain and tenant, like
// accountSelect, for the directory's joins.
const directorySelect = `SELECT a.id, a.kind, d.tenant_id, a.domain_id, a.local, d.name, t.name, a.display_name, a.contact_mail,
	a.role, a.status, a.must_change_password, a.created_at, a.updated_at`

// TalkPartners implements store.Groups.
func (db *DB) TalkPartners(ctx context.Context, accountID string) ([]string, error) {
	return queryAll(ctx, db, func(sc scanner) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, `SELECT DISTINCT o.account_id FROM room_members m JOIN room_members o ON o.room_id = m.room_id
		WHERE m.account_id = ? AND o.account_id <> m.account_id LIMIT 100000`, accountID)
}

// GroupMates implements store.Groups.
func (db *DB) GroupMates(ctx context.Context, accountID string) ([]string, error) {
	return queryAll(ctx, db, func(sc scanner) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, `SELECT DISTINCT o.account_id FROM group_members m JOIN group_members o ON o.group_id = m.group_id
		WHERE m.account_id = ? AND o.account_id <> m.account_id LIMIT 100000`, accountID)
}
