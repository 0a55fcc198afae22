//! Offers and answers (RFC 7692 section 7.1), both roles.
//! PLACEHOLDER: the negotiation lands here.
