//! The traced DNS messages as DNS bytes (RFC 1035 §4): the trace keeps a query and its answer
//! as text, and exports (pcap) want what a DNS message with that content looks like on the
//! wire. The id is the trace's own (hickory picks the real one and does not tell), and the
//! answer carries what the resolver got: the records, or the response code and any SOA.

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_resolver::net::{DnsError, NetError};

/// The query for (`name`, `rtype`) with `id`, recursion desired, as bytes.
pub(super) fn query(id: u16, name: &Name, rtype: RecordType) -> Option<Vec<u8>> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name.clone(), rtype));
    message.to_vec().ok()
}

/// The answer to query `id` as bytes, or `None` when no answer came (a timeout, a socket
/// error): then nothing crossed the wire toward the resolver.
pub(super) fn answer(
    id: u16,
    name: &Name,
    rtype: RecordType,
    result: &Result<Vec<Record>, NetError>,
) -> Option<Vec<u8>> {
    let mut message = Message::new(id, MessageType::Response, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.metadata.recursion_available = true;
    message.add_query(Query::query(name.clone(), rtype));
    match result {
        Ok(records) => {
            message.add_answers(records.iter().cloned());
        }
        Err(NetError::Dns(DnsError::NoRecordsFound(no))) => {
            message.metadata.response_code = no.response_code;
            if let Some(soa) = &no.soa {
                message.add_authority((**soa).clone().into_record_of_rdata());
            }
        }
        Err(NetError::Dns(DnsError::ResponseCode(code))) => {
            message.metadata.response_code = *code;
        }
        Err(_) => return None,
    }
    message.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::RData;
    use hickory_proto::rr::rdata::A;

    use super::*;

    #[test]
    fn query_and_answer_decode_to_what_was_traced() -> Result<(), Box<dyn std::error::Error>> {
        let name = Name::from_ascii("pcscf.ims.example.")?;
        let q = Message::from_vec(&query(7, &name, RecordType::A).ok_or("no query")?)?;
        assert_eq!(q.metadata.id, 7);
        assert_eq!(q.metadata.message_type, MessageType::Query);
        assert_eq!(q.queries, vec![Query::query(name.clone(), RecordType::A)]);

        let record = Record::from_rdata(name.clone(), 60, RData::A(A(Ipv4Addr::LOCALHOST)));
        let bytes = answer(7, &name, RecordType::A, &Ok(vec![record.clone()])).ok_or("none")?;
        let a = Message::from_vec(&bytes)?;
        assert_eq!(a.metadata.id, 7);
        assert_eq!(a.metadata.message_type, MessageType::Response);
        assert_eq!(a.answers, vec![record]);

        let refused = Err(NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)));
        let bytes = answer(8, &name, RecordType::A, &refused).ok_or("none")?;
        assert_eq!(
            Message::from_vec(&bytes)?.metadata.response_code,
            ResponseCode::Refused
        );
        assert_eq!(
            answer(9, &name, RecordType::A, &Err(NetError::Timeout)),
            None
        );
        Ok(())
    }
}
