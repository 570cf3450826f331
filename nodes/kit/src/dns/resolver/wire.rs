//! The query a resolver sends (RFC 1035 §4), as bytes: the same bytes go on the wire and into
//! the trace (answers are traced as they came).

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};

/// The query for (`name`, `rtype`) with `id`, recursion desired, as bytes.
pub(super) fn query(id: u16, name: &Name, rtype: RecordType) -> Option<Vec<u8>> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name.clone(), rtype));
    message.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_decodes_to_what_was_asked() -> Result<(), Box<dyn std::error::Error>> {
        let name = Name::from_ascii("pcscf.ims.example.")?;
        let q = Message::from_vec(&query(7, &name, RecordType::A).ok_or("no query")?)?;
        assert_eq!(q.metadata.id, 7);
        assert_eq!(q.metadata.message_type, MessageType::Query);
        assert!(q.metadata.recursion_desired);
        assert_eq!(q.queries, vec![Query::query(name, RecordType::A)]);
        Ok(())
    }
}
