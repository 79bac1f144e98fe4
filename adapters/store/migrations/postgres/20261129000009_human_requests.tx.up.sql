-- The owner's queue of human requests (listConversations as=owner&human_requested=true):
-- the few waiting threads among all of an owner's, in list order.
CREATE INDEX conversations_owner_human_idx ON conversations (owner_id, last_message_us DESC, id DESC)
    WHERE human_requested_at IS NOT NULL;
