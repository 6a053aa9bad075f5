import { answersByStatus } from './server-answers.js';

describe('answersByStatus', () => {
  it('sums the request counts of one method and route by status, whatever the label order', () => {
    const text = [
      '# HELP supernode_http_request_duration_seconds HTTP request duration by route template and status',
      'supernode_http_request_duration_seconds_bucket{le="0.001",method="POST",route="/v1/messages",status="201"} 3',
      'supernode_http_request_duration_seconds_count{method="POST",route="/v1/messages",status="201"} 120',
      'supernode_http_request_duration_seconds_count{status="409",route="/v1/messages",method="POST"} 4',
      'supernode_http_request_duration_seconds_count{method="GET",route="/v1/messages/:id/status",status="200"} 7',
      'supernode_http_request_duration_seconds_count{method="GET",route="/v1/messages",status="404"} 1',
      'supernode_http_request_duration_seconds_sum{method="POST",route="/v1/messages",status="201"} 0.5',
    ].join('\n');
    expect(answersByStatus(text, 'POST', '/v1/messages')).toEqual({ '201': 120, '409': 4 });
    expect(answersByStatus('', 'POST', '/v1/messages')).toEqual({});
  });
});
