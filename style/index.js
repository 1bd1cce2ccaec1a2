import './base.css';
import './resources.css';
