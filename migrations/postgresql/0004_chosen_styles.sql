-- A style chosen before the photo (a t.me/<bot>?start=style-<preset> link): the next photo is painted with it.
CREATE TABLE chosen_styles (
    chat_id     BIGINT           NOT NULL,
    user_id     BIGINT           NOT NULL,
    preset      TEXT             NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
